"""The supply chain of an image: what is in it (SBOM), who made it (signature) and how (provenance)."""
