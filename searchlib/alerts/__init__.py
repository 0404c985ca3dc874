"""Stage 4, alerts: saved searches (watches) with cursors in the index folder, their digests
(Atom feeds, plain-text mail) and search receipts. Built on the facade (`Index.arrivals`,
`Index.watches`); nothing here is loaded by a plain search.
"""
