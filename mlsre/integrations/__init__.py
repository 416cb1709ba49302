"""One module per external system; only these modules speak its protocol."""
