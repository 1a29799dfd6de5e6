"""Units of a municipality: centres (Κέντρα Κοινότητας), their annexes and mobile units."""
