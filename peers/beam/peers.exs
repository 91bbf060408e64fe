# The peer harness's workloads on the BEAM (Erlang/OTP through Elixir), run by
# `otpscope-peers` when `elixir` is on the PATH:
#
#   elixir peers/beam/peers.exs WORKERS CASTS SENDERS CASTS_PER_SENDER CALLS RESTARTS \
#     RING_PROCESSES RING_HOPS STORM_WORKERS SAMPLES WARM_UP
#
# It prints `sample <row> <figure>` lines in the units of the Rust table (ms, bytes, ns, µs),
# `version <what> <version>` lines, and progress on stderr. Every workload checks its result
# and raises if it is wrong, so the script exits non-zero and the harness fails.
#
# The same work as the Rust side: a GenServer worker (permanent, default shutdown 5,000 ms),
# a DynamicSupervisor for rows 1-3, a one_for_one Supervisor that never gives up for rows 6
# and 8, plain processes for the ring; senders and callers are processes. Memory is
# `:erlang.memory(:total)`, the emulator's own view of what it allocated.

defmodule Peers.Worker do
  use GenServer

  def start_link({index, reports}), do: GenServer.start_link(__MODULE__, {index, reports})

  @impl true
  def init({index, reports}) do
    if reports, do: send(reports, {:started, index, self()})
    {:ok, 0}
  end

  @impl true
  def handle_call({:echo, n}, _from, casts), do: {:reply, n + 1, casts}
  def handle_call(:casts, _from, casts), do: {:reply, casts, casts}

  @impl true
  def handle_cast(:cast, casts), do: {:noreply, casts + 1}
end

defmodule Peers do
  import Bitwise

  def check!(true, _what), do: :ok
  def check!(false, what), do: raise("check failed: #{what}")

  def ms(us), do: us / 1000

  # Waits until the process count is back to `count`, up to `left` tries of 1 ms.
  def wait_processes(count, left \\ 60_000) do
    cond do
      length(Process.list()) == count -> :ok
      left == 0 -> raise "#{length(Process.list()) - count} processes left after the stop"
      true ->
        Process.sleep(1)
        wait_processes(count, left - 1)
    end
  end

  # Rows 1-3.
  def workers(n) do
    baseline = length(Process.list())
    {:ok, sup} = DynamicSupervisor.start_link(strategy: :one_for_one)
    :erlang.garbage_collect()
    before = :erlang.memory(:total)

    {start, :ok} =
      :timer.tc(fn ->
        Enum.each(1..n, fn i -> {:ok, _} = DynamicSupervisor.start_child(sup, {Peers.Worker, {i, nil}}) end)
      end)

    during = :erlang.memory(:total)
    check!(DynamicSupervisor.count_children(sup).active == n, "#{n} children active")
    Process.unlink(sup)

    {stop, :ok} =
      :timer.tc(fn ->
        :ok = DynamicSupervisor.stop(sup)
        wait_processes(baseline)
      end)

    check!(not Process.alive?(sup), "the supervisor is gone")
    [start: ms(start), memory: (during - before) / n, stop: ms(stop)]
  end

  # Row 4, one to one.
  def cast_one(n) do
    {:ok, server} = GenServer.start(Peers.Worker, {0, nil})

    {elapsed, handled} =
      :timer.tc(fn ->
        Enum.each(1..n, fn _ -> GenServer.cast(server, :cast) end)
        GenServer.call(server, :casts, :infinity)
      end)

    check!(handled == n, "the server handled #{handled} casts of #{n}")
    GenServer.stop(server)
    [cast_one: elapsed * 1000 / n]
  end

  # Row 4, many to one.
  def cast_many(senders, each) do
    {:ok, server} = GenServer.start(Peers.Worker, {0, nil})
    me = self()

    {elapsed, handled} =
      :timer.tc(fn ->
        Enum.each(1..senders, fn _ ->
          spawn(fn ->
            Enum.each(1..each, fn _ -> GenServer.cast(server, :cast) end)
            send(me, :sent)
          end)
        end)

        Enum.each(1..senders, fn _ ->
          receive do
            :sent -> :ok
          end
        end)

        GenServer.call(server, :casts, :infinity)
      end)

    check!(handled == senders * each, "the server handled #{handled} casts of #{senders * each}")
    GenServer.stop(server)
    [cast_many: elapsed * 1000 / (senders * each)]
  end

  # Rows 5a and 5b: GenServer.call's default timeout is 5 s, so both rows are the same work.
  def call(n, row \\ :call) do
    {:ok, server} = GenServer.start(Peers.Worker, {0, nil})

    {elapsed, :ok} =
      :timer.tc(fn ->
        Enum.each(1..n, fn i ->
          answer = GenServer.call(server, {:echo, i})
          if answer != i + 1, do: raise("call #{i} answered #{answer}")
        end)
      end)

    GenServer.stop(server)
    [{row, elapsed * 1000 / n}]
  end

  # A one_for_one supervisor of n permanent workers that never gives up, and the first pids.
  def supervised(n) do
    me = self()

    children =
      for i <- 0..(n - 1) do
        Supervisor.child_spec({Peers.Worker, {i, me}}, id: i)
      end

    {:ok, sup} =
      Supervisor.start_link(children, strategy: :one_for_one, max_restarts: 1_000_000_000, max_seconds: 1)

    pids =
      Enum.reduce(1..n, %{}, fn _, pids ->
        receive do
          {:started, i, pid} -> Map.put(pids, i, pid)
        end
      end)

    check!(map_size(pids) == n, "#{n} workers started")
    {sup, pids}
  end

  def stop_supervised(sup) do
    Process.unlink(sup)
    :ok = Supervisor.stop(sup)
  end

  # Row 6.
  def restart(n) do
    {sup, %{0 => first}} = supervised(1)

    {elapsed, _} =
      :timer.tc(fn ->
        Enum.reduce(1..n, first, fn _, pid ->
          Process.exit(pid, :kill)

          receive do
            {:started, 0, successor} ->
              check!(successor != pid, "the successor has a new pid")
              successor
          end
        end)
      end)

    stop_supervised(sup)
    [restart: elapsed / n]
  end

  # The same shuffle as the Rust side's `common::shuffled` (xorshift64*).
  def shuffled(n) do
    mask = (1 <<< 64) - 1
    order = :array.from_list(Enum.to_list(0..(n - 1)))

    {order, _} =
      Enum.reduce((n - 1)..1//-1, {order, 0x9E3779B97F4A7C15}, fn i, {order, state} ->
        state = bxor(state, state >>> 12)
        state = bxor(state, state <<< 25 &&& mask)
        state = bxor(state, state >>> 27)
        draw = state * 0x2545F4914F6CDD1D &&& mask
        j = rem(draw, i + 1)
        a = :array.get(i, order)
        b = :array.get(j, order)
        {:array.set(j, a, :array.set(i, b, order)), state}
      end)

    :array.to_list(order)
  end

  # Row 8.
  def storm(n) do
    {sup, pids} = supervised(n)
    order = shuffled(n)

    {elapsed, back} =
      :timer.tc(fn ->
        Enum.each(order, fn i -> Process.exit(Map.fetch!(pids, i), :kill) end)

        Enum.reduce(1..n, %{}, fn _, back ->
          receive do
            {:started, i, pid} ->
              check!(pid != Map.fetch!(pids, i), "worker #{i} came back with a new pid")
              Map.update(back, i, 1, &(&1 + 1))
          end
        end)
      end)

    check!(map_size(back) == n and Enum.all?(back, fn {_, times} -> times == 1 end), "each worker came back once")
    stop_supervised(sup)
    [storm: ms(elapsed)]
  end

  def ring_member(index, parent) do
    receive do
      {:next, next} -> ring_loop(index, next, parent)
    end
  end

  def ring_loop(index, next, parent) do
    receive do
      {:token, 0} ->
        send(parent, {:done, index})
        ring_loop(index, next, parent)

      {:token, left} ->
        send(next, {:token, left - 1})
        ring_loop(index, next, parent)

      :stop ->
        :ok
    end
  end

  # Row 7.
  def ring(processes, hops) do
    me = self()
    members = for i <- 0..(processes - 1), do: spawn(fn -> ring_member(i, me) end)
    tuple = List.to_tuple(members)
    Enum.each(0..(processes - 1), fn i -> send(elem(tuple, i), {:next, elem(tuple, rem(i + 1, processes))}) end)

    {elapsed, last} =
      :timer.tc(fn ->
        send(elem(tuple, 0), {:token, hops})

        receive do
          {:done, index} -> index
        end
      end)

    check!(last == rem(hops, processes), "the token stopped at #{last}, expected #{rem(hops, processes)}")
    Enum.each(members, fn pid -> send(pid, :stop) end)
    [ring: ms(elapsed)]
  end
end

[workers, casts, senders, per_sender, calls, restarts, ring_processes, ring_hops, storm_workers, samples, warm_up] =
  Enum.map(System.argv(), &String.to_integer/1)

IO.puts("version otp #{System.otp_release()}")
IO.puts("version erts #{:erlang.system_info(:version)}")
IO.puts("version elixir #{System.version()}")
IO.puts("schedulers #{System.schedulers_online()}")

workloads = [
  {:workers, fn -> Peers.workers(workers) end},
  {:cast_one, fn -> Peers.cast_one(casts) end},
  {:cast_many, fn -> Peers.cast_many(senders, per_sender) end},
  {:call, fn -> Peers.call(calls) end},
  {:call_timeout, fn -> Peers.call(calls, :call_timeout) end},
  {:restart, fn -> Peers.restart(restarts) end},
  {:ring, fn -> Peers.ring(ring_processes, ring_hops) end},
  {:storm, fn -> Peers.storm(storm_workers) end}
]

# Stopping Elixir's DynamicSupervisor with 100,000 children takes one to two minutes (see
# BENCHMARKS.md), so rows 1-3 take at most two samples here and no warm-up round.
Enum.each(workloads, fn {name, run} ->
  {warm_up, samples} = if name == :workers, do: {0, min(samples, 2)}, else: {warm_up, samples}

  if warm_up == 1 do
    IO.puts(:stderr, "beam: warm-up #{name}")
    run.()
  end

  Enum.each(1..samples, fn round ->
    IO.puts(:stderr, "beam: #{name}, sample #{round}")

    Enum.each(run.(), fn {row, figure} ->
      IO.puts("sample #{row} #{:erlang.float_to_binary(figure / 1, decimals: 4)}")
    end)
  end)
end)
