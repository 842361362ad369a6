"""steerstats.uncertainty"""
