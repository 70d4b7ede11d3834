"""Everything readers add to a text (see the annotation issues)."""
