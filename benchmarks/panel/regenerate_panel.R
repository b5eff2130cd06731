# gaussmix's model-selection panel, remade from R's own packages (run by hand; CI never needs R).
#
#   Rscript benchmarks/panel/regenerate_panel.R           # data sets, reference and timings
#   Rscript benchmarks/panel/regenerate_panel.R --quick   # without the timings
#
# Needs r-base-core, r-cran-mclust and r-cran-mlbench (Debian); palmerpenguins when installed.
# Writes next to this file:
#   <name>.csv             each data set, numeric columns, complete rows
#   mclust_reference.csv   one row per model and G of Mclust(X, G = 1:9) with mclust's default
#                          models (the fourteen; "E" and "V" in one dimension): the cell's
#                          log-likelihood and df (NA where mclust could not fit it), mclust's
#                          BIC (higher is better) and whether mclust chose the cell
#   mclust_timing.csv      the median of three timed Mclust(X, G = 1:9) calls per data set
# Every fit reads the data back from its CSV, as gaussmix does, after set.seed(0).
suppressPackageStartupMessages(library(mclust))

script_dir <- function() {
  flag <- grep("^--file=", commandArgs(FALSE), value = TRUE)
  if (length(flag)) dirname(normalizePath(sub("^--file=", "", flag))) else getwd()
}
out_dir <- script_dir()
timed <- !("--quick" %in% commandArgs(TRUE))

complete <- function(frame) frame[stats::complete.cases(frame), , drop = FALSE]
data(GvHD, package = "mclust")
data(Baudry_etal_2010_JCGS_examples, package = "mclust")
panel <- list(
  GvHD_pos = GvHD.pos,
  baudry_ex4_1 = as.data.frame(ex4.1),
  baudry_ex4_2 = as.data.frame(ex4.2),
  baudry_ex4_3 = as.data.frame(ex4.3),
  baudry_ex4_4_1 = as.data.frame(ex4.4.1),
  baudry_ex4_4_2 = as.data.frame(ex4.4.2),
  test1d = data.frame(x = as.vector(unlist(Test1D))),
  precip = data.frame(precip = as.vector(datasets::precip)),
  log_rivers = data.frame(log_length = log(as.vector(datasets::rivers))),
  swiss = datasets::swiss,
  trees = datasets::trees,
  life_cycle = datasets::LifeCycleSavings,
  rock = datasets::rock,
  attitude = datasets::attitude,
  state_x77 = as.data.frame(datasets::state.x77),
  judge_ratings = datasets::USJudgeRatings,
  airquality = complete(datasets::airquality[, c("Ozone", "Solar.R", "Wind", "Temp")]),
  geyser = MASS::geyser,
  crabs = MASS::crabs[, c("FL", "RW", "CL", "CW", "BD")]
)
if (requireNamespace("palmerpenguins", quietly = TRUE)) {
  penguins <- as.data.frame(palmerpenguins::penguins)
  panel$penguins <- complete(penguins[, c("bill_length_mm", "bill_depth_mm",
                                          "flipper_length_mm", "body_mass_g")])
} else if (file.exists(file.path(out_dir, "penguins.csv"))) {
  message("palmerpenguins is not installed: penguins.csv is kept as it is")
  panel$penguins <- read.csv(file.path(out_dir, "penguins.csv"))
}
data(Glass, package = "mlbench")
data(Vehicle, package = "mlbench")
panel$glass <- Glass[, 1:9]
panel$vehicle <- Vehicle[, 1:18]

cells <- list()
times <- list()
for (name in names(panel)) {
  csv <- file.path(out_dir, paste0(name, ".csv"))
  write.csv(as.data.frame(lapply(panel[[name]], as.numeric)), csv, row.names = FALSE,
            quote = FALSE)
  X <- as.matrix(read.csv(csv))
  one_d <- ncol(X) == 1
  models <- if (one_d) c("E", "V") else mclust.options("emModelNames")
  if (one_d) X <- as.vector(X)
  set.seed(0)
  chosen <- Mclust(X, G = 1:9, verbose = FALSE)
  for (model in models) {
    for (g in 1:9) {
      bic <- chosen$BIC[as.character(g), model]
      loglik <- NA
      df <- NA
      if (!is.na(bic)) {
        cell <- Mclust(X, G = g, modelNames = model, x = chosen$BIC, verbose = FALSE)
        loglik <- cell$loglik
        df <- cell$df
      }
      cells[[length(cells) + 1]] <- data.frame(
        dataset = name, n = NROW(X), d = NCOL(as.matrix(X)), model = model, G = g,
        loglik = loglik, df = df, bic_mclust = bic,
        best = model == chosen$modelName && g == chosen$G)
    }
  }
  cat(sprintf("%s: %s,%d\n", name, chosen$modelName, chosen$G))
  if (timed) {
    seconds <- replicate(3, {
      set.seed(0)
      system.time(Mclust(X, G = 1:9, verbose = FALSE))[["elapsed"]]
    })
    times[[name]] <- data.frame(dataset = name, n = NROW(X), d = NCOL(as.matrix(X)),
                                seconds = round(median(seconds), 3))
  }
}
write.csv(do.call(rbind, cells), file.path(out_dir, "mclust_reference.csv"), row.names = FALSE)
if (timed) {
  write.csv(do.call(rbind, times), file.path(out_dir, "mclust_timing.csv"), row.names = FALSE)
}
cat("mclust", format(packageVersion("mclust")), "on", R.version.string, "\n")
