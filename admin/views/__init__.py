"""The admin's pages, one module per kind of page; `add_rules` puts their URLs on the blueprint."""
