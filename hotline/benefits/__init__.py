"""Cash-transfer programmes: versioned facts, the listing families get, and the eligibility self-check."""
