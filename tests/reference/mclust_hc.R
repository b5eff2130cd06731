# mclust's own start (the hierarchical agglomeration Mclust uses: hc with modelName "VVV" on the
# "SVD" transformation of the data, from single rows) cut at G = 2..9, for two panel data sets.
# Run by hand from the repository root (R and mclust are not needed by the tests):
#   Rscript tests/reference/mclust_hc.R
suppressPackageStartupMessages(library(mclust))
out <- list()
for (name in c("trees", "baudry_ex4_1")) {
  X <- as.matrix(read.csv(file.path("benchmarks", "panel", paste0(name, ".csv"))))
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
