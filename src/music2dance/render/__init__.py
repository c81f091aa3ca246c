"""Output for people: beat plots, videos, gifs, web pages, and file exports."""
