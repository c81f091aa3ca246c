"""Inference (eq. 7): music to style to dance latents to units, decoded one after another."""
