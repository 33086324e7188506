"""The product loop: link feedback to tracker issues, rank demand, tell customers when an issue ships."""
