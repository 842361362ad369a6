"""steerstats.report"""
