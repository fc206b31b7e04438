"""Built-in example apps, for the lesson and for trying the inspector out."""
