# jobs/lib/setup.sh — sourced (never run) by tests/run.sh, the jobs and the benchmarks, so that
# every entry point installs, finds data and builds munet the same way, from a fresh machine.
#
#   source jobs/lib/setup.sh
#   munet_setup                     # packages + data + build + MPI-as-root, in that order
#   munet_install_packages PKG...   # only the given Debian packages (default: MUNET_PACKAGES)
#
# Environment: MUNET_DATA      data folder (relative to the caller's cwd);
#                              default <repo>/../shared/datasets
#              MUNET_BUILD_DIR build folder (relative to the repo root); default build

MUNET_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MUNET_BUILD_DIR=${MUNET_BUILD_DIR:-build}
[[ $MUNET_BUILD_DIR == /* ]] || MUNET_BUILD_DIR="$MUNET_REPO/$MUNET_BUILD_DIR"
export MUNET_BUILD_DIR

# Debian packages the project builds, tests and runs with (python3-torch is the benchmark's own).
MUNET_PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libopenmpi-dev openmpi-bin libhdf5-openmpi-dev libhdf5-dev hdf5-tools
  libboost-program-options-dev libgtest-dev libopenblas-dev libopenblas0-pthread zlib1g-dev nlohmann-json3-dev
  libxxhash-dev libpng-dev libjpeg62-turbo-dev
  dataset-fashion-mnist python3-numpy python3-h5py python3-matplotlib python3-xxhash
)

# Prints a step heading with the seconds since the calling script started.
munet_step() { printf '\n==> [%5ds] %s\n' "$SECONDS" "$*"; }

munet_die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# Installs those of the given packages (default: MUNET_PACKAGES) that are not installed yet;
# runs `apt-get update` at most once per shell.
munet_install_packages() {
  local pkgs=("$@") missing=() p
  ((${#pkgs[@]})) || pkgs=("${MUNET_PACKAGES[@]}")
  munet_step "checking ${#pkgs[@]} Debian packages"
  for p in "${pkgs[@]}"; do
    if [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) != "install ok installed" ]]; then
      missing+=("$p")
    fi
  done
  if ((${#missing[@]} == 0)); then
    echo "all installed"
    return 0
  fi
  echo "missing: ${missing[*]}"
  command -v apt-get >/dev/null ||
    munet_die "apt-get not found (not Debian?); install these packages by hand: ${missing[*]}"
  local sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null ||
      munet_die "not root and no sudo; as root run: apt-get install ${missing[*]}"
    sudo=(sudo)
  fi
  if [[ -z ${_MUNET_APT_UPDATED:-} ]]; then
    "${sudo[@]}" apt-get update || munet_die "apt-get update failed (needed for: ${missing[*]})"
    _MUNET_APT_UPDATED=1
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}" ||
    munet_die "apt-get install failed for: ${missing[*]}"
}

# Exports MUNET_DATA as an absolute path: kept when set, else <repo>/../shared/datasets.
munet_setup_data() {
  munet_step "locating data"
  local origin
  if [[ -n ${MUNET_DATA:-} ]]; then
    origin="from MUNET_DATA"
  elif [[ -d $MUNET_REPO/../shared/datasets ]]; then
    MUNET_DATA="$MUNET_REPO/../shared/datasets"
    origin="shared folder beside the repository"
  else
    munet_die "no data: MUNET_DATA is not set and $MUNET_REPO/../shared/datasets does not exist;" \
      "set MUNET_DATA to a folder laid out like shared/datasets (see its README.md)"
  fi
  [[ -d $MUNET_DATA ]] || munet_die "MUNET_DATA=$MUNET_DATA is not a directory"
  MUNET_DATA=$(cd "$MUNET_DATA" && pwd)
  export MUNET_DATA
  echo "data: $MUNET_DATA ($origin)"
}

# Configures (Ninja, Release) and builds everything into a build folder: MUNET_BUILD_DIR, or
# the folder given first, with any further arguments passed to cmake (e.g. -DMUNET_MPI=OFF).
munet_build() {
  local dir=${1:-$MUNET_BUILD_DIR}
  (($# > 0)) && shift
  munet_step "configuring into $dir $*"
  local args=(-S "$MUNET_REPO" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@")
  # CI's PATH may lack the CUDA toolkit; point CMake at it so MUNET_CUDA's auto-detection sees it.
  if ! command -v nvcc >/dev/null && [[ -x /usr/local/cuda/bin/nvcc ]]; then
    args+=(-DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc)
  fi
  cmake "${args[@]}" || munet_die "cmake configure failed"
  munet_step "building $dir with $(nproc) jobs"
  cmake --build "$dir" -j"$(nproc)" || munet_die "build failed"
}

# Open MPI refuses to start as root unless told; CI and these machines run as root.
munet_allow_mpi_as_root() {
  if ((EUID == 0)); then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  fi
}

munet_setup() {
  munet_install_packages
  munet_setup_data
  munet_build
  munet_allow_mpi_as_root
}
