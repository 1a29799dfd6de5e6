"""Programme policy as data: staffing bands and professional profiles, versioned (domain.md §6)."""
