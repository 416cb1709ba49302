"""One module per channel: each turns an outbox row into the request its service documents."""
