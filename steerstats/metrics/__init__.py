"""steerstats.metrics"""
