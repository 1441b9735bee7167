"""Where the index lives: one `Backend` base (base.py), one module per backend, and the
factory (factory.py) that alone knows their names and opens a searcher over any of them."""
