{-# LANGUAGE BangPatterns #-}
{-# LANGUAGE DataKinds #-}
{-# LANGUAGE FlexibleContexts #-}
{-# LANGUAGE GADTs #-}
{-# LANGUAGE NoImplicitPrelude #-}
{-# LANGUAGE RankNTypes #-}
-- A register block behind a device function that splits its registers' replies with
-- clash-prelude 1.6.4's own lazy `unzip3` (variant `lazy`), or with a single-pass unzip3
-- (variant `fixed`). The error flags are read only at the end: with the lazy `unzip3` their
-- `map` thunk holds the whole reply vector, and so the head of every data stream the device
-- walks. membound's attribution must name `device` as the holder, not clash-prelude's `map`.
-- Usage: DeviceUnzip3 (lazy|fixed) CYCLES
module Main (main) where

import Clash.Prelude
import Clash.Signal.Internal (Signal (..))
import System.Environment (getArgs)
import qualified Prelude as P

type Reply = (Signal System Bool, Signal System (Unsigned 16), Signal System Bool)

-- | The block's clock, reset and enable. A reset that never asserts is a cyclic signal:
-- `resetGen` would be a stream shared by every register, kept whole by the CAF it floats to.
sys :: (HiddenClockResetEnable System => r) -> r
sys = withClockResetEnable clockGen (unsafeFromHighPolarity (pure False)) enableGen

-- | One register of the block: acknowledge, data (a counter by `step`), error flag.
{-# NOINLINE register16 #-}
register16 :: Unsigned 16 -> Reply
register16 step = (ack, dat, err)
  where
    dat = sys (register 0 (dat + pure step))
    ack = sys (register False (not <$> ack))
    err = sys (register False (pure False))

-- | The device: the sum of its registers' data every cycle, and their error flags.
{-# NOINLINE device #-}
device :: Bool -> Vec 4 Reply -> (Signal System (Unsigned 16), Vec 4 (Signal System Bool))
device lazy regs = go regs
  where
    go :: Vec 4 Reply -> (Signal System (Unsigned 16), Vec 4 (Signal System Bool))
    go rs =
      let (_acks, dats, errs) = if lazy then unzip3 rs else unzip3SinglePass rs
      in (sum <$> bundle dats, errs)

-- | The fix: one pass, lazy in each triple; the halves hold selector thunks the GC
-- short-cuts once the triple is evaluated.
unzip3SinglePass :: Vec n (a, b, c) -> (Vec n a, Vec n b, Vec n c)
unzip3SinglePass Nil = (Nil, Nil, Nil)
unzip3SinglePass (~(a, b, c) `Cons` rest) =
  let (as, bs, cs) = unzip3SinglePass rest
  in (a `Cons` as, b `Cons` bs, c `Cons` cs)

-- | Drives the simulation one cycle at a time in IO, dropping consumed cells.
walk :: Int -> Int -> Signal System (Unsigned 16) -> IO Int
walk 0 !acc _ = return acc
walk k !acc (x :- xs) = walk (k - 1) (acc + fromIntegral x) xs

main :: IO ()
main = do
  args <- getArgs
  (lazy, cycles) <- case args of
    [v, n] | v `P.elem` ["lazy", "fixed"] -> return (v == "lazy", read n)
    _ -> P.error "usage: DeviceUnzip3 (lazy|fixed) CYCLES"
  let steps = map (\i -> fromIntegral (P.length args) + fromIntegral i) (indicesI :: Vec 4 (Index 4))
  case device lazy (map register16 steps) of
    (out, errs) -> do
      -- The testbench counts the flags first: the vector's spine is built, its elements not.
      putStrLn ("error flags: " P.++ show (P.length (toList errs)))
      total <- walk cycles 0 out
      print total
      print (map (\(e :- _) -> e) errs)
