"""Writing weights into cells and reading them back: the programming schemes (PTQ,
HAQ, random differential pairs, pruning) and the aggregation of bit columns
(digital, or the VCMAC chain)."""
