"""steerstats.features"""
