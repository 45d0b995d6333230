"""Text models seen from the inside: any text coloured by any unit, and a cell finder (features, marks, contexts)."""
