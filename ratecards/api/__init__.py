"""HTTP API of the ratecards app: serializers, views and URLs."""
