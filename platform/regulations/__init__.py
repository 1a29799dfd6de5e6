"""Operating regulations: versions, approval by the centre head, submission to the ministry."""
