# Reference log-likelihoods and parameter counts from R's mclust, for tests/test_mclust_models.py.
#
# Run by hand from the repository root (needs Debian's r-base-core and r-cran-mclust):
#
#     Rscript tests/reference/mclust_reference.R
#
# It fits every one of mclust's 14 covariance models for G = 1..6 on iris (the copy scikit-learn
# ships, saved as tests/reference/iris.csv), Old Faithful and diabetes (the CSV files gaussmix
# ships), with mclust's default start (model-based hierarchical agglomeration on SVD-transformed
# data) and a tight EM tolerance, and writes tests/reference/mclust_loglik.csv: one row per
# (data set, model, G) with the maximised log-likelihood (NA where mclust's fit failed), the
# number of free parameters (mclust's df) and mclust's version.
suppressPackageStartupMessages(library(mclust))

datasets <- list(
  iris = "tests/reference/iris.csv",
  old_faithful = "src/gaussmix/datasets/old_faithful.csv",
  diabetes = "src/gaussmix/datasets/diabetes.csv"
)
models <- c("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE", "EVE", "VVE", "EEV", "VEV",
            "EVV", "VVV")
tight <- emControl(tol = c(1e-10, sqrt(.Machine$double.eps)))
rows <- list()
for (name in names(datasets)) {
  X <- as.matrix(read.csv(datasets[[name]]))
  n <- nrow(X)
  d <- ncol(X)
  bic <- mclustBIC(X, G = 1:6, modelNames = models, control = tight, verbose = FALSE)
  for (model in models) {
    for (G in 1:6) {
      df <- nVarParams(model, d, G) + G * d + (G - 1)
      b <- bic[as.character(G), model]
      loglik <- if (is.na(b)) NA else (b + df * log(n)) / 2
      rows[[length(rows) + 1]] <- data.frame(dataset = name, model = model, G = G,
                                             loglik = sprintf("%.10f", loglik), df = df)
    }
  }
}
out <- do.call(rbind, rows)
out$loglik[out$loglik == "NA"] <- ""
out$mclust <- as.character(packageVersion("mclust"))
write.csv(out, "tests/reference/mclust_loglik.csv", row.names = FALSE, quote = FALSE)
cat("wrote tests/reference/mclust_loglik.csv:", nrow(out), "rows\n")
