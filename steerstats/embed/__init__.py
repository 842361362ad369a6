"""steerstats.embed"""
