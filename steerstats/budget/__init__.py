"""steerstats.budget"""
