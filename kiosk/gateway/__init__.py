"""The kiosk's client of the Dukcapil kiosk gateway, checked against the contract (openapi.yaml), and the
kiosk's side of its PKI (its key and certificate request). The gateway itself is loket_gateway/."""
