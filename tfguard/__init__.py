"""tfguard: keep TensorFlow models off images that cannot load them."""

__version__ = "0.1.0"
