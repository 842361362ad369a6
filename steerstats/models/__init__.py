"""steerstats.models"""
