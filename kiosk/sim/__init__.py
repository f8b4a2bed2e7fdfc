"""The simulated world: the real gateway seeded with the demo town (office.py), scene-reading face and NIK
checks, a whole simulated kiosk, scripted journeys (`kiosk simulate`) and the demo's panel. `kiosk run`
never imports it."""
