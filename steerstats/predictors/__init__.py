"""steerstats.predictors"""
