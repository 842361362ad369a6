"""steerstats.goalspace"""
