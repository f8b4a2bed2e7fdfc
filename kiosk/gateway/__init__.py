"""Client of the Dukcapil kiosk gateway, and a simulator of that gateway (a real HTTP server)."""
