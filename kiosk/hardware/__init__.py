"""Ports for the kiosk's parts and their adapters. Every port has a simulator with the same contract,
as gpiozero ships MockFactory: tests, the demo and technicians all use them."""

from kiosk.hardware.errors import HardwareError

__all__ = ["HardwareError"]
