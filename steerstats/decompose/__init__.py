"""steerstats.decompose"""
