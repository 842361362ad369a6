"""steerstats.data"""
