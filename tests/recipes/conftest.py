import os

RECIPES = os.path.join(os.path.dirname(__file__), "..", "..", "recipes")
