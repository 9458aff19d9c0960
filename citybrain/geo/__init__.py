"""The city on the map: districts, the device registry, point-in-polygon."""
