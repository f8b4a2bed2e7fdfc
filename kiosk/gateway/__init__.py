"""The kiosk's client of the Dukcapil kiosk gateway, checked against the contract (openapi.yaml), and the PKI
helpers for provisioning. The gateway simulator lives in kiosk/sim/gateway/."""
