"""Shared fixtures. ROS tests get their own ROS_DOMAIN_ID and loopback-only discovery."""
from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path

import pytest

from skip_guard import pytest_pycollect_makemodule  # noqa: F401  (a module's own skip skips only it)

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))   # scenario generator shared with the benchmarks

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"   # nothing in the suite leaves loopback



ROS_FIXTURES = {"ros_domain", "ros_context", "ros_env"}
E2E_MODULES = {"test_end_to_end", "test_recorder_participants", "test_launch_file", "test_fault_runs", "test_recorder_faults", "test_lockstep_reproducible", "test_lockstep_hundred", "test_hosts_runs"}
# Whole missions, trainings and subprocess-per-case CLI tests: left out of the fast subset
# (`scripts/run-tests --fast`). A module name marks all its tests; module::test marks one test
# with all its parameters. Measured with --durations; keep the fast subset under a minute.
SLOW = {
    "test_pybullet_sim", "test_fisc_missions", "test_cao_missions", "test_planned_missions", "test_headless_mission",
    "test_gmt_kinodynamic", "test_policy_missions", "test_gpu_check::test_cpu_dry_run_compares_and_reports_agreement", "test_rl_envs", "test_train", "test_packaging",
    "test_example_plugin", "test_example_plugins", "test_analyze_hostile", "test_sweep_ray", "test_fault_runs", "test_rl_sb3_example",
    "test_docs::test_the_site_builds_without_warnings_and_every_internal_link_resolves",
    "test_docs::test_reference_pages_are_generated_from_the_code",
    "test_docs::test_guide_pages_are_picked_up_without_listing_them",
    "test_config_bounds::test_a_world_with_absurdly_many_obstacles_is_refused",
    "test_gazebo_export::test_exported_world_and_models_validate",
    "test_analyze_cli", "test_analyze_metrics::test_analysis_runs_without_loading_ros",
    "test_analyze_pictures::test_altitude_and_side_view_separate_the_two_layers",
    "test_analyze_pictures::test_animation_is_a_moving_gif",
    "test_analyze_pictures::test_animate_refuses_bad_input_with_one_line",
    "test_analyze_pictures::test_animation_as_mp4_with_ffmpeg",
    "test_analyze_pictures::test_comparison_page_fits_1280_px_without_overlapping_tables",
    "test_radio::test_loss_rate_matches_the_configured_probability",
    "test_config_errors::test_cli_check_accepts_the_default_mission",
    "test_config_errors::test_cli_launch_rejects_a_broken_mission_the_same_way",
    "test_config_errors::test_cli_check_missing_mission_file",
    "test_config_errors::test_cli_launch_refuses_a_bad_drone_process_count_with_one_line",
    "test_gmt_planner::test_t1_suboptimality_matches_paper_row",
    "test_fisc::test_steady_throughput_is_the_same_through_inlet_throat_and_outlet",
    "test_patch_quantised::test_quantising_costs_at_most_half_a_point_of_accuracy",
    "test_architecture::test_headless_mission_runs_without_loading_rclpy",
    "test_cao::test_a_joining_agent_reduces_the_cost", "test_cao::test_cli_refuses_bad_initial_positions_with_one_line",
    "test_cao::test_cli_reproduces_a_reference_run_and_writes_the_history",
    "test_cao::test_hold_the_line_final_cost_matches_the_authors",
    "test_cli_plan::test_kinodynamic_plan_reports_limits",
    "test_cli_plan::test_smoothed_path_is_shorter_safe_and_near_a_dense_reference",
    "test_config_errors::test_cli_check_prints_one_error_line",
    "test_fisc::test_a_3d_extruded_channel_flows_and_keeps_agents_inside",
    "test_fisc::test_a_lone_agent_without_boundary_forcing_holds", "test_fisc::test_fields_and_plots",
    "test_fisc::test_kernel_density_of_a_uniform_lattice_is_the_lattice_density",
    "test_fisc::test_no_agent_leaves_the_channel_and_none_collide",
    "test_gazebo_export::test_cli_export_and_its_errors",
    "test_gmt_planner::test_segment_checks_are_exact_with_and_without_grid",
    "test_gmt_planner::test_t1_fmt_cost_in_reference_range",
    "test_mpc::test_default_mission_with_mpc_tracking_is_safe",
    "test_mpc::test_mpc_respects_limits_and_reaches_a_reachable_target",
    "test_live_view::test_headless_view_serves_the_flying_swarm_to_a_websocket_client",
    "test_live_view::test_a_taken_port_is_one_line_and_exit_code_2",
    "test_live_view::test_launch_view_needs_published_poses",
    "test_swarmsync_sim::test_a_seed_fixes_the_run", "test_swarmsync_sim::test_thirty_percent_packet_loss_still_completes",
    "test_verdicts::test_a_landing_cut_short_exits_3",
    "test_verdicts::test_first_flight_lands_every_drone_and_says_ok",
    "test_check_launchable::test_cli_check_and_launch_refuse_an_unwritable_record_folder",
    "test_check_launchable::test_cli_launch_refuses_a_run_dir_that_is_a_file",
    "test_check_launchable::test_cli_check_from_a_folder_where_runs_cannot_be_made",
    "test_check_launchable::test_cli_check_refuses_etc_passwd_as_a_key",
    "test_config_plausible::test_cli_check_prints_the_reason_in_one_line",
    "test_fuzz_corpus", "test_netns", "test_hosts_dds", "test_hosts_runs", "test_bench_discovery",
}


# Real-time runs against the real PX4, across host namespaces, and with processes killed and
# restarted on the wall clock: their timing needs the machine to themselves, so
# `scripts/run-tests` runs them alone after the other tests' parallel phase (module or module::test).
SOLO = {"test_px4_sih", "test_px4_deploy", "test_hw_mavsdk", "test_hosts_runs", "test_hosts_dds", "test_host_faults",
        "test_cao_ros::test_a_killed_drone_leaves_and_a_restarted_one_joins_again"}


def pytest_configure(config):
    for name, text in (("unit", "ROS-free tests of one part (the fast subset: -m 'unit and not slow')"),
                       ("ros", "tests that start ROS 2 nodes over real DDS"),
                       ("e2e", "whole missions through the user's entry points"),
                       ("hardware", "hardware backends against simulated or real autopilots"),
                       ("slow", "tests that take more than about 10 s alone"),
                       ("solo", "real-time tests that need the machine to themselves (run after the parallel phase)")):
        config.addinivalue_line("markers", f"{name}: {text}")


def pytest_collection_modifyitems(config, items):
    """Mark every test by kind: ros (uses a ROS fixture), e2e, hardware (by module), else unit."""
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
        kinds = {m.name for m in item.iter_markers()} & {"ros", "e2e", "hardware"}
        if ROS_FIXTURES & set(getattr(item, "fixturenames", ())):
            kinds.add("ros")
        if module in E2E_MODULES:
            kinds.add("e2e")
        if module.startswith(("test_hw_", "test_px4_", "test_cf_firmware")):
            kinds.add("hardware")
        for kind in kinds - {m.name for m in item.iter_markers()}:
            item.add_marker(kind)
        if not kinds:
            item.add_marker("unit")
        if _listed(SLOW, module, item) or kinds & {"ros", "e2e"}:
            item.add_marker("slow")
        if _listed(SOLO, module, item):
            item.add_marker("solo")
    if getattr(config.option, "numprocesses", None):
        _heaviest_files_first(items)


def _listed(names: set[str], module: str, item) -> bool:
    """Whether `names` holds the test's module or module::test (all its parameters)."""
    return module in names or f"{module}::{item.originalname}" in names


def _heaviest_files_first(items) -> None:
    """Under pytest-xdist (whole files per worker), hand out the files with the most slow tests
    first, so that no long file starts last and runs alone at the end. Every worker sorts the
    same way (xdist requires the same order)."""
    file_of = {id(item): item.nodeid.split("::")[0] for item in items}
    slow: dict[str, int] = {}
    for item in items:
        f = file_of[id(item)]
        slow[f] = slow.get(f, 0) + bool(item.get_closest_marker("slow"))
    first_seen = {f: i for i, f in enumerate(dict.fromkeys(file_of.values()))}
    items.sort(key=lambda item: (-slow[file_of[id(item)]], first_seen[file_of[id(item)]]))


def _domain_block() -> range:
    """Ten domains for this test process, one per test that needs ROS. `ROS_DOMAIN_ID=B` in the
    environment gives B .. B+9 (so parallel runs on one machine stay apart); otherwise a block
    of 20-59 chosen by pid. Under pytest-xdist, worker k takes the k-th block of ten after that
    base (workers run test files side by side). Benchmarks use 90-99."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    k = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0
    given = os.environ.get("ROS_DOMAIN_ID", "").strip()
    if given:
        base = int(given) + 10 * k
        if not 0 <= base <= 222:
            raise pytest.UsageError(f"ROS_DOMAIN_ID={given}: the suite needs ten domains per test worker from it, "
                                    f"so 0-{222 - 10 * k} with worker {worker}")
        return range(base, base + 10)
    base = 20 + 10 * k if worker else 20 + (os.getpid() % 4) * 10
    return range(base, base + 10)


_domains = itertools.cycle(_domain_block())


@pytest.fixture
def ros_domain() -> int:
    return next(_domains)


@pytest.fixture
def ros_context(ros_domain):
    """An rclpy context in the test's own domain with one observer node and its executor."""
    import rclpy
    from rclpy.experimental import EventsExecutor
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=ros_domain)
    node = rclpy.create_node("test_observer", context=context, enable_rosout=False, start_parameter_services=False)
    executor = EventsExecutor(context=context)
    executor.add_node(node)
    yield node, executor
    executor.shutdown()
    node.destroy_node()
    rclpy.try_shutdown(context=context)


@pytest.fixture
def ros_env(ros_domain) -> dict:
    """Environment for child processes of a ROS test."""
    return dict(os.environ, ROS_DOMAIN_ID=str(ros_domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
                PYTHONUNBUFFERED="1")


@pytest.fixture(scope="session")
def rings_mission():
    from swarm_ros.mission import load_mission
    return load_mission(REPO / "config" / "missions" / "rings.yaml")
