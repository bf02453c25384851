-- | @sim (fixed|leaky) CYCLES@: runs the counter and prints its last output.
module Main (main) where

import Clash.Prelude
import Counter
import Membound (marker)
import System.Environment (getArgs)
import System.Exit (die)
import Text.Read (readMaybe)
import qualified Prelude as P

main :: IO ()
main = do
  args <- getArgs
  case args of
    [k, n] | Just knob <- parseKnob k, Just cycles <- readMaybe n -> do
      marker "init"
      lastOut <- drive cycles (simulateCounter knob)
      marker "end"
      putStrLn ("counter " P.++ k P.++ " " P.++ show lastOut)
    _ -> die "usage: sim (fixed|leaky) CYCLES"
  where
    parseKnob "fixed" = Just FixedKnob
    parseKnob "leaky" = Just LeakyKnob
    parseKnob _ = Nothing

-- | Consumes CYCLES outputs, marking "steady" a tenth of the way in.
drive :: Int -> [Unsigned 16] -> IO (Unsigned 16)
drive cycles = go 0 0
  where
    go i acc xs
      | i P.== cycles = return acc
      | otherwise = case xs of
          [] -> return acc
          (x : rest) -> do
            if i P.== cycles `P.div` 10 then marker "steady" else return ()
            x `seq` go (i P.+ 1) x rest
