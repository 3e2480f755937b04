"""A graded synthetic parallel corpus: small stdin/stdout problems solved in ten languages."""
