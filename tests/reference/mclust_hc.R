# mclust's own start (the hierarchical agglomeration Mclust uses: hc with modelName "VVV" on the
# "SVD" transformation of the data, from single rows) cut at G = 2..9, for two panel data sets
# and R's quakes.
# Run by hand from the repository root (R and mclust are not needed by the tests):
#   Rscript tests/reference/mclust_hc.R
suppressPackageStartupMessages(library(mclust))
out <- list()
# R's quakes, all five columns (1000 x 5): the size where the agglomeration from single rows
# costs most of its time budget (gaussmix.engine.model_based.SINGLE_ROW_WORK)
write.csv(datasets::quakes, file.path("tests", "reference", "quakes_full.csv"), row.names = FALSE)
paths <- c(trees = file.path("benchmarks", "panel", "trees.csv"),
           baudry_ex4_1 = file.path("benchmarks", "panel", "baudry_ex4_1.csv"),
           quakes_full = file.path("tests", "reference", "quakes_full.csv"))
for (name in names(paths)) {
  X <- as.matrix(read.csv(paths[[name]]))
  tree <- hc(X, modelName = "VVV", use = "SVD")
  classes <- hclass(tree, 2:9)
  for (g in 2:9) {
    out[[length(out) + 1]] <- data.frame(dataset = name, G = g, row = seq_len(nrow(X)),
                                         class = classes[, as.character(g)])
  }
}
write.csv(do.call(rbind, out), file.path("tests", "reference", "mclust_hc_classes.csv"),
          row.names = FALSE)
cat("mclust", format(packageVersion("mclust")), "\n")
# Copies of rows tie the merge costs exactly: the order in which hc merges tied pairs, for a
# 12-row example with three pairs of copies (merge pairs, 1-based smallest row of each group).
X <- as.matrix(read.csv(file.path("tests", "reference", "mclust_hc_ties.csv")))
pairs <- t(unclass(hc(X, modelName = "VVV", use = "SVD"))[1:2, ])
write.csv(data.frame(first = pairs[, 1], second = pairs[, 2]),
          file.path("tests", "reference", "mclust_hc_tie_pairs.csv"), row.names = FALSE)
