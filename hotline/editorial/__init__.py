"""Content edited by staff: versioned texts and programme rules, previews, approvals, translation review (#21)."""
