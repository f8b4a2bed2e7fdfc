"""The simulated world: the gateway simulator and its seed, scene-reading face and NIK checks, a whole
simulated kiosk, scripted journeys (`kiosk simulate`) and the demo's panel. `kiosk run` never imports it."""
