"""steerstats.generate"""
