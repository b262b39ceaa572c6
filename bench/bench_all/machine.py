"""meta.json: what was run, on what, built how. Everything a reader needs to judge a results folder alone."""
import os
import platform
import re
import resource
import subprocess
import sys
from typing import Dict, Optional


def _read(path: str) -> Optional[str]:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _int(text: Optional[str]) -> Optional[int]:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _run(argv, cwd=None) -> Optional[str]:
    try:
        out = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=20,
                             check=True)
        return out.stdout.decode("utf-8", "replace").strip()
    except (OSError, subprocess.SubprocessError):
        return None


def git_info(repo: str) -> Dict[str, object]:
    commit = _run(["git", "rev-parse", "HEAD"], cwd=repo)
    # Dirty = tracked or untracked source changes; results/ run folders are ignored by .gitignore already.
    porcelain = _run(["git", "status", "--porcelain", "--untracked-files=normal"], cwd=repo)
    return {"commit": commit, "dirty": bool(porcelain) if porcelain is not None else None,
            "branch": _run(["git", "rev-parse", "--abbrev-ref", "HEAD"], cwd=repo)}


def cmake_cache(build_dir: str) -> Dict[str, str]:
    values: Dict[str, str] = {}
    text = _read(os.path.join(build_dir, "CMakeCache.txt")) or ""
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9_]+):[A-Z_]+=(.*)$", line)
        if match:
            values[match.group(1)] = match.group(2)
    return values


def compiler_info(build_dir: str) -> Dict[str, object]:
    cache = cmake_cache(build_dir)
    compiler = cache.get("CMAKE_CXX_COMPILER", "")
    build_type = cache.get("CMAKE_BUILD_TYPE", "")
    flags = " ".join(f for f in (cache.get("CMAKE_CXX_FLAGS", ""),
                                 cache.get(f"CMAKE_CXX_FLAGS_{build_type.upper()}", "") if build_type else "") if f)
    version = _run([compiler, "--version"]) if compiler else None
    return {"cxx": compiler or None, "cxx_version": version.splitlines()[0] if version else None,
            "build_type": build_type or None, "cxx_flags": flags, "sanitizer": cache.get("TVT_SANITIZER") or None,
            "werror": cache.get("TVT_WERROR") or None, "build_dir": os.path.abspath(build_dir)}


def cpu_model() -> Optional[str]:
    text = _read("/proc/cpuinfo") or ""
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    return match.group(1).strip() if match else platform.processor() or None


def limits() -> Dict[str, object]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    nproc_soft, nproc_hard = resource.getrlimit(resource.RLIMIT_NPROC)
    ports = (_read("/proc/sys/net/ipv4/ip_local_port_range") or "").split()

    def unlimited(v):
        return None if v == resource.RLIM_INFINITY else v
    return {
        "open_files_soft": unlimited(soft), "open_files_hard": unlimited(hard),
        "max_user_processes": unlimited(nproc_soft) if nproc_soft == nproc_hard else
        [unlimited(nproc_soft), unlimited(nproc_hard)],
        "pid_max": _int(_read("/proc/sys/kernel/pid_max")),
        "threads_max": _int(_read("/proc/sys/kernel/threads-max")),
        "max_map_count": _int(_read("/proc/sys/vm/max_map_count")),
        "somaxconn": _int(_read("/proc/sys/net/core/somaxconn")),
        "ephemeral_ports": [int(p) for p in ports] if len(ports) == 2 else None,
        "file_max": _int(_read("/proc/sys/fs/file-max")),
    }


def machine() -> Dict[str, object]:
    uname = platform.uname()
    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    mem_total = re.search(r"^MemTotal:\s+(\d+) kB", _read("/proc/meminfo") or "", re.M)
    return {
        "hostname": uname.node, "kernel": f"{uname.system} {uname.release}", "kernel_version": uname.version,
        "arch": uname.machine, "cpu_model": cpu_model(), "cores": os.cpu_count(), "cores_allowed": affinity,
        "memory_bytes": int(mem_total.group(1)) * 1024 if mem_total else None,
        "os": (dict(re.findall(r'^(\w+)="?([^"\n]*)"?$', _read("/etc/os-release") or "", re.M)).get("PRETTY_NAME")),
        "python": sys.version.split()[0],
    }


def collect(repo: str, build_dir: str) -> Dict[str, object]:
    return {"git": git_info(repo), "compiler": compiler_info(build_dir), "machine": machine(), "limits": limits()}
