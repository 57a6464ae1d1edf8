"""The bundled model zoo: one directory per model (config.json, README.md model card, and for
models small enough to ship, model.tflite). Installed as the package ``aslsign.zoo``."""
