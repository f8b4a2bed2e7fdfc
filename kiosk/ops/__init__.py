"""Operations, the top layer: /metrics and /healthz, systemd notification, provisioning and the self-test.
The health model they read sits at the bottom, in kiosk/health.py."""
