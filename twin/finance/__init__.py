"""Money: the account plan, the ledger of a plan or a replication, and the variances that
bridge a budget to a plan and a plan to its outcome (DESIGN.md §10, Finance)."""
